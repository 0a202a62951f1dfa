// Signed MCP session ids: what verifies and what does not, with the cache of verified ids in play.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { SessionSigner } from '../../src/mcp/session.ts'

const signer = new SessionSigner(randomBytes(32))

t.test('an issued id verifies to its claims, again and again', async t => {
  const id = signer.issue('key-1', 'demo', '2025-11-25', 1_000)
  const claims = signer.verify(id)
  t.match(claims, { principal: 'key-1', server: 'demo', version: '2025-11-25', issuedAt: 1_000 })
  t.same(signer.verify(id), claims, 'the second check gives the same claims')
  t.ok(Object.isFrozen(claims), 'claims cannot be changed by a caller')
})

t.test('tampered, re-spelled, foreign and malformed ids are refused, before and after a valid one was seen', async t => {
  const id = signer.issue('key-1', 'demo', '2025-11-25')
  const [payload, signature] = id.split('.') as [string, string]
  const forged = Buffer.from(JSON.stringify(['x', 'key-2', 'demo', '2025-11-25', Date.now()])).toString('base64url')
  const other = new SessionSigner(randomBytes(32))
  for (let round = 0; round < 2; round++) {
    t.equal(signer.verify(`${forged}.${signature}`), undefined, 'another payload under a valid signature')
    t.equal(signer.verify(`${payload}.${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`), undefined, 'a changed signature')
    t.equal(signer.verify(`${payload}.${signature}=`), undefined, 'a non-canonical spelling of the signature')
    t.equal(other.verify(id), undefined, 'a signer with another key')
    t.equal(signer.verify('nodot'), undefined)
    t.equal(signer.verify(`.${signature}`), undefined)
    t.ok(signer.verify(id), 'the genuine id')
  }
})

t.test('the cache is bounded and forgets without losing correctness', async t => {
  const first = signer.issue('key-first', 'demo', '2025-11-25')
  t.ok(signer.verify(first))
  for (let i = 0; i < 10_050; i++) signer.verify(signer.issue(`key-${i}`, 'demo', '2025-11-25'))
  t.equal(signer.verify(first)?.principal, 'key-first', 'an id verified long ago still verifies after the cache was cleared')
})
