import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Sha256, normalizeSha256 } from '../../src/sha256.js';

const hex = (data: Uint8Array) => new Sha256().update(data).hex();

test('FIPS 180-4 vectors', () => {
  const enc = new TextEncoder();
  assert.equal(hex(enc.encode('')), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(hex(enc.encode('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(
    hex(enc.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  );
});

test('any chunking gives the digest of node:crypto, around block and padding edges', () => {
  for (const len of [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, 100_003]) {
    const data = new Uint8Array(len);
    for (let i = 0; i < len; i++) data[i] = (i * 31 + 7) & 0xff;
    const expected = createHash('sha256').update(data).digest('hex');
    for (const chunk of [1, 3, 64, 65, 4096]) {
      const h = new Sha256();
      for (let at = 0; at < len; at += chunk) h.update(data.subarray(at, at + chunk));
      assert.equal(h.hex(), expected, `len ${len} chunk ${chunk}`);
    }
  }
});

test('normalizeSha256', () => {
  assert.equal(normalizeSha256(' ' + 'AB'.repeat(32) + '\n'), 'ab'.repeat(32));
  assert.throws(() => normalizeSha256('abc'));
});
