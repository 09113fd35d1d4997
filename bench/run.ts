/**
 * `npm run bench`: runs every benchmark section and prints one JSON object to stdout.
 * Sections are independent modules so each area owns its measurements; a failing section is reported, not fatal.
 */
type Section = () => Promise<Record<string, unknown>>;

const sections: Record<string, () => Promise<Section>> = {
  engine: async () => (await import("./engine.js")).benchEngine,
  method: async () => (await import("./method.js")).benchMethod,
  envs: async () => (await import("./envs.js")).benchEnvs,
  datasets: async () => (await import("./datasets.js")).benchDatasets,
};

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const result: Record<string, unknown> = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: (await import("node:os")).cpus().length,
    date: new Date().toISOString(),
  };
  for (const [name, load] of Object.entries(sections)) {
    if (only.length > 0 && !only.includes(name)) continue;
    process.stderr.write(`bench: ${name}...\n`);
    try {
      result[name] = await (await load())();
    } catch (e) {
      result[name] = { error: e instanceof Error ? e.message : String(e) };
    }
  }
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
}

await main();
