// A real MCP client (the official TypeScript SDK) against Aida's /mcp, run by tests/Aida.Server.Tests/McpTests.cs:
//   node client.mjs URL KEY [QUERY]
// lists the tools, runs QUERY (default aida_pue) through query_metrics, proposes isolating rack h1-a01, and prints
// one JSON object: {"tools": [names], "query_metrics": {"isError", "text"}, "propose_action": {"isError", "text"}}.
// A connection that fails (e.g. 401) exits 1 with the error on stderr.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, key, query = "aida_pue"] = process.argv.slice(2);
if (!url || !key) {
  console.error("usage: node client.mjs URL KEY [QUERY]");
  process.exit(2);
}

const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${key}` } },
});
const client = new Client({ name: "aida-mcp-test", version: "1.0.0" });

// A tool's answer as the test reads it: its error flag and its text content.
const answer = (result) => ({
  isError: result.isError === true,
  text: result.content.filter((c) => c.type === "text").map((c) => c.text).join(""),
});

try {
  await client.connect(transport);
  const { tools } = await client.listTools();
  const metric = await client.callTool({ name: "query_metrics", arguments: { query } });
  const proposal = await client.callTool({
    name: "propose_action",
    arguments: { kind: "isolate_rack", asset: "h1-a01", value: 1, reason: "leak reported by a technician (MCP test)" },
  });
  console.log(JSON.stringify({
    tools: tools.map((t) => t.name),
    query_metrics: answer(metric),
    propose_action: answer(proposal),
  }));
  await client.close();
} catch (e) {
  console.error(`mcp client: ${e?.message ?? e}`);
  process.exit(1);
}
