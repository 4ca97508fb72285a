// SVGO settings for the figures (tools/figures/__init__.py runs it after matplotlib writes them).
// Coordinates are in points (1/72 in): one decimal is a tenth of a point, below a pixel at the
// widths the pages show. The ids matplotlib writes are dropped even though the file has a
// <style>: its only rule is `*{…}`, and the figures are shown as <img>, never inlined.
export default {
  multipass: true,
  floatPrecision: 1,
  plugins: [
    { name: "preset-default", params: { overrides: { cleanupIds: { force: true } } } },
    "convertStyleToAttrs",
  ],
};
