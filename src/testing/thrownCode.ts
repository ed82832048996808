/** The error code `f` throws ("ok" when it returns): for tests asserting a coded refusal. */
export function thrownCode(f: () => unknown): string {
  try {
    f();
    return "ok";
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}
