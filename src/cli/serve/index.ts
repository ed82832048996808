import { basename, extname } from "node:path";
import { VerinferError } from "../../errors.ts";
import { closeDraining } from "../../node/http/drain.ts";
import { createOpenAiServer } from "../../node/http/openaiServer.ts";
import { ENGINE_OPTIONS, engineFrom } from "../engineOptions.ts";
import type { CommandSpec } from "../framework/command.ts";

/** `verinfer serve`. */
export const serveCommand: CommandSpec = {
  name: "serve",
  summary: "serve any engine over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/models)",
  description: [
    "Loads the engine once and answers POST /v1/chat/completions (JSON or streamed server-sent events),",
    "GET /v1/models and GET /health until interrupted (Ctrl-C). The ts and ts-int engines generate on",
    "--threads worker threads (each with the model loaded), so the server stays responsive and tokens stream",
    "as they are produced; that many requests run at once and --max-queue more wait; beyond that they get",
    "503 with Retry-After. A client that hangs up stops its generation. Any OpenAI client, and `verinfer",
    "generate --engine openai`, can use it. Binds to 127.0.0.1 unless --host says otherwise.",
  ].join("\n"),
  options: {
    ...ENGINE_OPTIONS,
    host: { type: "string", value: "ADDRESS", default: "127.0.0.1", description: "address to listen on" },
    port: {
      type: "integer",
      value: "N",
      default: 8080,
      min: 0,
      max: 65535,
      description: "port (0 = any free)",
    },
    name: {
      type: "string",
      value: "NAME",
      description: "model name clients use (default: the model file's name without extension)",
    },
    "server-key": {
      type: "string",
      value: "KEY",
      description: "require Authorization: Bearer KEY on /v1 (env VERINFER_SERVE_API_KEY)",
    },
    "max-queue": {
      type: "integer",
      value: "N",
      default: 16,
      min: 0,
      description: "requests that may wait for the engine",
    },
    "max-request-bytes": {
      type: "integer",
      value: "N",
      default: 1_048_576,
      min: 1024,
      description: "largest request body; larger ones get 413 before anything is parsed",
    },
  },
  examples: [
    "verinfer model init --preset tiny --seed 1 --out tiny.bin && verinfer serve --model tiny.bin --port 8080",
    "verinfer serve --engine ts-int --model tiny.bin --threads 2 --max-queue 8",
    "verinfer serve --engine llama-cpp --model tinyllama.Q4_K_M.gguf --threads 2",
    "verinfer generate --engine openai --model http://127.0.0.1:8080/v1 --prompt 'Once upon a time'",
  ],
  async run(ctx) {
    const engine = await engineFrom(ctx);
    const name = ctx.string("name") ?? basename(engine.info.model, extname(engine.info.model));
    const app = createOpenAiServer({
      engine,
      servedModel: name,
      apiKey: ctx.string("server-key") ?? process.env.VERINFER_SERVE_API_KEY,
      maxQueue: ctx.number("max-queue"),
      bodyLimit: ctx.number("max-request-bytes"),
    });
    let address: string;
    try {
      address = await app.listen({ host: ctx.string("host") as string, port: ctx.number("port") as number });
    } catch (error) {
      await engine.close();
      throw new VerinferError("CONFIG_INVALID", `cannot listen: ${(error as Error).message}`);
    }
    const url = `${address}/v1`;
    if (ctx.json)
      ctx.output(
        { url, model: name, engine: engine.info.name, parallelism: engine.info.parallelism },
        () => "",
      );
    ctx.info(
      `serving ${name} (${engine.info.name}, ${engine.info.parallelism} at once) at ${url}; Ctrl-C to stop`,
    );
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    ctx.info("stopping");
    await closeDraining(app);
    await engine.close();
    return 0;
  },
};
