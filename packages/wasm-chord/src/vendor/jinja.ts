/**
 * The Jinja engine for chat templates (@huggingface/jinja, MIT).
 *
 * `npm run build` replaces the compiled `dist/vendor/jinja.js` with the package's own ESM build (one
 * self-contained file, its license beside it), so `dist/index.js` has no bare import specifier and
 * loads in a browser straight from a static server, with no bundler or import map.
 */
export { Template } from '@huggingface/jinja';
