import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseBackend, describeAdapter, type GpuLike } from '../../src/backend.js';
import { BackendUnavailableError } from '../../src/errors.js';

const browser = (gpu: GpuLike | undefined) => ({ gpu, server: false });
const adapterOf = (info: Record<string, unknown>): GpuLike => ({ requestAdapter: async () => ({ info }) });
const SWIFTSHADER = { vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader Device (Subzero)' };
const HARDWARE = { vendor: 'nvidia', architecture: 'hopper', device: '', description: '' };

test("'cpu' is the CPU whatever the browser has", async () => {
  const c = await chooseBackend('cpu', browser(adapterOf(HARDWARE)));
  assert.equal(c.backend, 'cpu');
  assert.match(c.reason, /'cpu' was requested/);
});

test("'auto' takes a hardware adapter and names it", async () => {
  const c = await chooseBackend('auto', browser(adapterOf(HARDWARE)));
  assert.equal(c.backend, 'webgpu');
  assert.deepEqual(c.adapter, { name: 'nvidia hopper', isSoftware: false });
  assert.match(c.reason, /WebGPU adapter found \(nvidia hopper\)/);
});

test("'auto' takes the CPU over a software adapter; 'webgpu' still uses it", async () => {
  const auto = await chooseBackend('auto', browser(adapterOf(SWIFTSHADER)));
  assert.equal(auto.backend, 'cpu');
  assert.match(auto.reason, /software one .*swiftshader/i);
  assert.match(auto.reason, /backend: 'webgpu'/);
  const forced = await chooseBackend('webgpu', browser(adapterOf(SWIFTSHADER)));
  assert.equal(forced.backend, 'webgpu');
  assert.equal(forced.adapter?.isSoftware, true);
  // isFallbackAdapter alone also marks it
  assert.equal(describeAdapter({ info: { vendor: 'x', isFallbackAdapter: true } }).isSoftware, true);
});

test("no navigator.gpu: 'auto' is the CPU, 'webgpu' fails saying what to do", async () => {
  const auto = await chooseBackend('auto', browser(undefined));
  assert.equal(auto.backend, 'cpu');
  assert.match(auto.reason, /WebGPU is not available/);
  await assert.rejects(chooseBackend('webgpu', browser(undefined)), (e) => {
    assert.ok(e instanceof BackendUnavailableError);
    assert.equal(e.code, 'BACKEND_UNAVAILABLE');
    assert.match(e.message, /navigator\.gpu is missing.*backend: 'cpu' or 'auto'/);
    return true;
  });
});

test("no adapter (null, or a rejected request): 'auto' is the CPU, 'webgpu' fails", async () => {
  for (const gpu of [{ requestAdapter: async () => null }, { requestAdapter: () => Promise.reject(new Error('x')) }]) {
    assert.equal((await chooseBackend('auto', browser(gpu))).backend, 'cpu');
    await assert.rejects(chooseBackend('webgpu', browser(gpu)), /offers no adapter.*backend: 'cpu' or 'auto'/);
  }
});

test('Node and Deno: the WebGPU backend is browser-only', async () => {
  const env = { gpu: adapterOf(HARDWARE), server: true };
  assert.equal((await chooseBackend('auto', env)).backend, 'cpu');
  await assert.rejects(chooseBackend('webgpu', env), /runs only in browsers/);
});
