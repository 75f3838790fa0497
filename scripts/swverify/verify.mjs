// Reads JSON lines {secret, headers, body} on stdin and prints, for each, "ok" or the
// reference library's error: the ledger's signatures checked by code that is not the ledger's.
import { Webhook } from "standardwebhooks";
import { createInterface } from "node:readline";

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { secret, headers, body } = JSON.parse(line);
  try {
    new Webhook(secret).verify(body, headers);
    console.log("ok");
  } catch (err) {
    console.log("error: " + err.message);
  }
}
