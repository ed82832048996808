/** `npm run contracts:generate`: compiles contracts/src and writes src/chain/generated/contracts.ts. */
import { writeFileSync } from "node:fs";
import { compileContracts, generatedModule } from "./compile.ts";

const target = new URL("./generated/contracts.ts", import.meta.url);
writeFileSync(target, generatedModule(compileContracts()));
process.stderr.write(`wrote ${target.pathname}\n`);
