import t from 'tap'
import { KeyRing, KeyRingError } from '../../src/crypto/keyring.ts'

t.test('seal and open round-trip with associated data', async t => {
  const ring = KeyRing.parse(KeyRing.generateSpec('a'))
  const sealed = ring.seal('hunter2', 'variables/ws/TOKEN')
  t.equal(sealed.keyId, 'a')
  t.notOk(sealed.data.includes(Buffer.from('hunter2')), 'ciphertext does not contain the plaintext')
  t.equal(ring.openText(sealed, 'variables/ws/TOKEN'), 'hunter2')
})

t.test('a random nonce makes every seal different', async t => {
  const ring = KeyRing.parse(KeyRing.generateSpec('a'))
  const one = ring.seal('same', 'x')
  const two = ring.seal('same', 'x')
  t.not(one.data.toString('hex'), two.data.toString('hex'))
  t.not(one.data.subarray(0, 12).toString('hex'), two.data.subarray(0, 12).toString('hex'), 'nonces differ')
})

t.test('a ciphertext moved to another row does not open', async t => {
  const ring = KeyRing.parse(KeyRing.generateSpec('a'))
  const sealed = ring.seal('hunter2', 'variables/ws/TOKEN')
  t.throws(() => ring.open(sealed, 'variables/ws/OTHER'), KeyRingError)
})

t.test('tampering is detected', async t => {
  const ring = KeyRing.parse(KeyRing.generateSpec('a'))
  const sealed = ring.seal('hunter2', 'aad')
  const flipped = Buffer.from(sealed.data)
  flipped[14] = flipped[14]! ^ 1
  t.throws(() => ring.open({ keyId: 'a', data: flipped }, 'aad'), KeyRingError)
  t.throws(() => ring.open({ keyId: 'a', data: sealed.data.subarray(0, 20) }, 'aad'), KeyRingError)
})

t.test('rotation: the first key seals, older keys still open', async t => {
  const oldSpec = KeyRing.generateSpec('old')
  const oldRing = KeyRing.parse(oldSpec)
  const sealedBefore = oldRing.seal('before rotation', 'aad')
  const rotated = KeyRing.parse(`${KeyRing.generateSpec('new')},${oldSpec}`)
  t.equal(rotated.activeKeyId, 'new')
  t.equal(rotated.openText(sealedBefore, 'aad'), 'before rotation')
  t.equal(rotated.seal('after', 'aad').keyId, 'new')
  const withoutOld = KeyRing.parse(KeyRing.generateSpec('new'))
  t.throws(() => withoutOld.open(sealedBefore, 'aad'), /no key "old"/)
})

t.test('bad key specs are refused with a reason', async t => {
  t.throws(() => KeyRing.parse(''), /at least one key/)
  t.throws(() => KeyRing.parse('nokeyid'), /key id/)
  t.throws(() => KeyRing.parse('a:' + Buffer.alloc(16).toString('base64')), /32 bytes/)
  t.throws(() => KeyRing.parse(`a:${Buffer.alloc(32).toString('base64')},a:${Buffer.alloc(32).toString('base64')}`), /unique/)
})

t.test('derived keys are stable per purpose and differ across purposes', async t => {
  const spec = KeyRing.generateSpec('a')
  t.equal(KeyRing.parse(spec).deriveKey('x').toString('hex'), KeyRing.parse(spec).deriveKey('x').toString('hex'))
  t.not(KeyRing.parse(spec).deriveKey('x').toString('hex'), KeyRing.parse(spec).deriveKey('y').toString('hex'))
})

t.test('fingerprints tell keys apart without revealing them', async t => {
  const spec = KeyRing.generateSpec('k1')
  const ring = KeyRing.parse(spec)
  t.equal(ring.fingerprint('k1'), KeyRing.parse(spec).fingerprint('k1'), 'stable for the same key')
  t.not(ring.fingerprint('k1'), KeyRing.parse(KeyRing.generateSpec('k1')).fingerprint('k1'), 'differs for another key with the same id')
  t.notOk(ring.fingerprint('k1').includes(spec.split(':')[1]!.slice(0, 8)), 'is not the key')
})
