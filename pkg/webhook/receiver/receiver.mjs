// A webhook receiver for the delivery tests (pkg/webhook): every request is verified with the
// Standard Webhooks reference implementation (npm standardwebhooks) and the secret in
// WEBHOOK_SECRET. A verified delivery is answered 204 and printed as one JSON line
// {"id", "timestamp", "body"} on stdout; anything else is answered 400 and printed as
// {"bad": "<why>"}. Once it accepts connections on 127.0.0.1:PORT it writes one line to file
// descriptor 3, the ready pipe the test gives it, and closes it.
import fs from "node:fs";
import http from "node:http";
import { Webhook } from "standardwebhooks";

const wh = new Webhook(process.env.WEBHOOK_SECRET);
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const payload = Buffer.concat(chunks).toString("utf8");
    try {
      const body = wh.verify(payload, req.headers);
      console.log(JSON.stringify({ id: req.headers["webhook-id"], timestamp: req.headers["webhook-timestamp"], body }));
      res.writeHead(204);
      res.end();
    } catch (err) {
      console.log(JSON.stringify({ bad: String(err && err.message ? err.message : err) }));
      res.writeHead(400, { "content-type": "text/plain" });
      res.end("signature check failed\n");
    }
  });
});
server.listen(Number(process.env.PORT), "127.0.0.1", () => {
  fs.writeSync(3, "ready\n");
  fs.closeSync(3);
});
