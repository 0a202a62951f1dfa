import t from 'tap'
const x: number = 1
t.equal(x, 1, 'works')
t.equal(process.version.slice(0, 3), 'v24')
