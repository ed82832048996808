/**
 * The entry of the CLI's role bundle (src/node/devnet/roleBundle.ts), never run from source: it
 * registers the bundled twins of the thread modules beside it, then runs the CLI. It alone reads the
 * bundle's own URL.
 */

import { useThreadTwins } from "../node/devnet/roleBundle.ts";
import { main } from "./main.ts";

useThreadTwins(import.meta.url);
process.exitCode = await main(process.argv.slice(2));
