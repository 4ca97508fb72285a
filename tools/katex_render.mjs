// Build-time KaTeX renderer: one process per site build.
// Protocol: one JSON request per stdin line, {"items": [{"tex": "...", "display": true}, ...]};
// one JSON reply per line, {"results": [{"html": "..."} | {"error": "..."}, ...]}.
// A persistent process costs ~1 ms per formula; spawning node per formula costs ~120 ms.
import katex from "katex";
import readline from "node:readline";

const options = (display) => ({
  displayMode: display,
  throwOnError: true,
  // "error" turns KaTeX's soft warnings (e.g. unicode text in math mode) into failures too.
  strict: "error",
  trust: false,
  output: "htmlAndMathml",
});

function render({ tex, display }) {
  try {
    return { html: katex.renderToString(tex, options(display)) };
  } catch (err) {
    return { error: String(err.message || err) };
  }
}

const lines = readline.createInterface({ input: process.stdin, terminal: false });
lines.on("line", (line) => {
  const { items } = JSON.parse(line);
  process.stdout.write(JSON.stringify({ results: items.map(render) }) + "\n");
});
