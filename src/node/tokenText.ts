/**
 * The texts of served token ids, for the evaluators that score them: with the llama2.c tokenizer of a
 * verifiable worker's checkpoint, or with the vocabulary of a GGUF model (llama.cpp, loaded without
 * its weights). Evaluators hold the tokens to the receipt's hashes first; this only renders them.
 */

import { loadLlama2c } from "../engine/llama2c/modelFiles.ts";
import { decode } from "../engine/llama2c/tokenizer.ts";
import { isGguf, loadGgufVocabulary } from "../engine/llamaCpp/llamaCppEngine.ts";

export interface TokenText {
  /** The prompt's text (its leading BOS aside). */
  prompt(tokens: readonly number[]): string;
  /** The text of `output`, generated after `prompt`. */
  continuation(prompt: readonly number[], output: readonly number[]): string;
  close(): Promise<void>;
}

/** The token texts of the model at `path`: a GGUF file, or a llama2.c checkpoint (with its tokenizer). */
export async function tokenTextOf(path: string): Promise<TokenText> {
  if (isGguf(path)) {
    const vocabulary = await loadGgufVocabulary(path);
    return {
      prompt: (tokens) => vocabulary.detokenize(tokens),
      continuation: (prompt, output) => vocabulary.detokenize(output, prompt),
      close: () => vocabulary.close(),
    };
  }
  const { tokenizer } = loadLlama2c(path);
  return {
    prompt: (tokens) => decode(tokenizer, tokens.slice(1)),
    continuation: (prompt, output) => decode(tokenizer, output, prompt[prompt.length - 1]),
    close: async () => {},
  };
}
