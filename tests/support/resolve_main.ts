// Resolves a pool once at a registrar and prints its PEs as one JSON line
// ([{ "id": PE ID, "home": home registrar ID }]): for tests whose registrars run in network
// namespaces that the test process cannot reach. Usage: resolve_main.ts ADDR POOL

import { parseEndpointAddress } from "../../transport/open.ts";
import { AsapClient, text } from "./asap_client.ts";

const [address, pool] = Deno.args;
const client = await AsapClient.open(parseEndpointAddress(address, 3863));
try {
  const answer = await client.request({
    type: "handle-resolution",
    wantsUpdates: false,
    poolHandle: text(pool),
  });
  if (answer.type !== "handle-resolution-response") throw new Error(`Got ${answer.type}`);
  console.log(JSON.stringify(
    answer.poolElements.map((p) => ({ id: p.identifier, home: p.homeRegistrarId })),
  ));
} finally {
  client.close();
}
