// Runs inside a module worker for probe.html: what the engine's worker will need.
const out = { crossOriginIsolated: self.crossOriginIsolated };
try {
  const root = await navigator.storage.getDirectory();
  const fh = await root.getFileHandle('probe-worker.bin', { create: true });
  const h = await fh.createSyncAccessHandle();
  h.write(new Uint8Array([9, 8, 7]), { at: 0 });
  const back = new Uint8Array(3);
  h.read(back, { at: 0 });
  h.close();
  await root.removeEntry('probe-worker.bin');
  out.opfsSyncAccess = back.join(',') === '9,8,7';
} catch (e) {
  out.opfsSyncAccess = `error: ${e}`;
}
try {
  const adapter = await navigator.gpu?.requestAdapter();
  out.webgpu = !!adapter;
} catch (e) {
  out.webgpu = `error: ${e}`;
}
// Shared wasm memory: what a threaded build of the engine would need.
try {
  new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  out.sharedMemory = true;
} catch {
  out.sharedMemory = false;
}
postMessage(out);
