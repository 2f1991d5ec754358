// The demo frontend `liveharness demo` starts when Node.js is available: a dev server
// in miniature, with no packages to install. It serves its page, forwards /api/ to the
// backend whose URL the harness passes in LIVEHARNESS_DEMO_BACKEND (as Vite's proxy
// would), and prints its URL the way Vite does, which the `dev` frontend driver reads.
import http from "node:http";
import { readFile } from "node:fs/promises";

const backend = new URL(process.env.LIVEHARNESS_DEMO_BACKEND ?? "http://127.0.0.1:8000");
const page = (await readFile(new URL("./index.html", import.meta.url), "utf8")).replaceAll(
  "{{BACKEND}}",
  backend.origin,
);

const server = http.createServer((request, response) => {
  if (request.url.startsWith("/api/")) {
    const upstream = http.request(
      {
        hostname: backend.hostname,
        port: backend.port,
        path: request.url,
        method: request.method,
        headers: { ...request.headers, host: backend.host },
      },
      (answer) => {
        response.writeHead(answer.statusCode, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on("error", (error) => {
      response.writeHead(502, { "content-type": "text/plain; charset=utf-8" });
      response.end(`the backend did not answer: ${error.message}\n`);
    });
    request.pipe(upstream);
  } else if (request.url === "/" || request.url === "/index.html") {
    response.writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
    });
    response.end(request.method === "HEAD" ? undefined : page);
  } else {
    response.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    response.end("Not Found\n");
  }
});

// Port 0: a free port, printed below, so several demos can run at once.
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address();
  console.log(`  liveharness demo frontend (Node.js ${process.version})`);
  console.log(`  ➜  Local:   http://127.0.0.1:${port}/`);
});

function stop() {
  server.close(() => process.exit(0));
  // Keep-alive connections would hold close() open until they time out.
  server.closeAllConnections();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
