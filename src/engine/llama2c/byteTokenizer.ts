/**
 * verinfer's byte-level tokenizer for generated models: llama2.c's conventions (0 `<unk>`, 1 BOS,
 * 2 EOS, 3..258 the 256 byte tokens `<0xXX>`), 259 the space piece (the dummy prefix and every space,
 * as SentencePiece's "▁" — so llama.cpp tokenizes the converted model identically) and, up to the
 * model's vocab size, unused pieces that no text encodes to. Every UTF-8 text round-trips exactly; generated models just cannot be expected to
 * say anything meaningful with it.
 */
import { writeTokenizer } from "./tokenizer.ts";

/** Pieces and scores of a byte tokenizer with `vocabSize` entries (at least 260). */
export function byteTokenizerFile(vocabSize: number): Uint8Array {
  if (vocabSize < 260) throw new RangeError("a byte tokenizer needs at least 260 tokens");
  const enc = new TextEncoder();
  const pieces: Uint8Array[] = [enc.encode("<unk>"), enc.encode("\n<s>\n"), enc.encode("\n</s>\n")];
  for (let b = 0; b < 256; b++)
    pieces.push(enc.encode(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`));
  pieces.push(enc.encode(" "));
  for (let i = pieces.length; i < vocabSize; i++) pieces.push(enc.encode(`<unused_${i}>`));
  return writeTokenizer(pieces, new Float32Array(vocabSize));
}
