// Fetches the URL it is sent (with an optional Range) and posts back status and length; lets the
// environment test check that requests made by workers are visible to Playwright.
self.onmessage = async (e) => {
  const { url, range } = e.data;
  try {
    const res = await fetch(url, range ? { headers: { Range: range } } : {});
    const body = await res.arrayBuffer();
    postMessage({ status: res.status, length: body.byteLength });
  } catch (err) {
    postMessage({ error: String(err) });
  }
};
