/**
 * A small, strict XML 1.0 parser and inclusive Canonical XML 1.1 (without comments), enough to verify
 * the enveloped XML signatures of NVIDIA's RIMs (SWID tags) without a native library.
 *
 * Deliberately unsupported (rejected, never half-handled): DTDs and entity declarations (no external
 * or expanding entities can reach the verifier), non-predefined named entities. Limits on size and
 * depth are enforced. The C14N 1.1 specifics for `xml:id` / `xml:base` do not apply: RIMs carry no
 * `xml:` attributes, and documents that do are rejected rather than canonicalized approximately.
 */
import { fail, ok, type Verdict } from "../errors.ts";

/** An attribute with its resolved namespace. */
export interface XmlAttribute {
  readonly qname: string;
  readonly prefix: string;
  readonly local: string;
  readonly namespace: string;
  readonly value: string;
}

/** An element. `namespaces` holds the declarations made on this element (prefix "" = default). */
export interface XmlElement {
  readonly kind: "element";
  readonly qname: string;
  readonly prefix: string;
  readonly local: string;
  readonly namespace: string;
  readonly attributes: readonly XmlAttribute[];
  readonly namespaces: ReadonlyMap<string, string>;
  readonly children: readonly XmlNode[];
  parent: XmlElement | null;
}

/** Character data (text and CDATA, merged). */
export interface XmlText {
  readonly kind: "text";
  readonly text: string;
}

/** Nodes kept by the parser (comments and processing instructions are dropped: C14N omits them). */
export type XmlNode = XmlElement | XmlText;

/** Parse limits. */
export const XML_LIMITS = { maxChars: 2_000_000, maxDepth: 64 } as const;

const XML_NS = "http://www.w3.org/XML/1998/namespace";
const NAME = /^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?$/;

class XmlError extends Error {}

const PREDEFINED: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decodeEntities(raw: string, where: number): string {
  return raw.replace(/&([^;&\s]*);?/g, (match, body: string) => {
    if (!match.endsWith(";")) throw new XmlError(`unterminated entity reference near offset ${where}`);
    if (body.startsWith("#x")) {
      const cp = Number.parseInt(body.slice(2), 16);
      if (!/^#x[0-9a-fA-F]+$/.test(body) || cp > 0x10ffff)
        throw new XmlError(`bad character reference &${body};`);
      return String.fromCodePoint(cp);
    }
    if (body.startsWith("#")) {
      const cp = Number(body.slice(1));
      if (!/^#\d+$/.test(body) || cp > 0x10ffff) throw new XmlError(`bad character reference &${body};`);
      return String.fromCodePoint(cp);
    }
    const v = PREDEFINED[body];
    if (v === undefined) throw new XmlError(`undeclared entity &${body}; (DTDs are not supported)`);
    return v;
  });
}

function split(qname: string): [string, string] {
  const i = qname.indexOf(":");
  return i < 0 ? ["", qname] : [qname.slice(0, i), qname.slice(i + 1)];
}

/** Parses a document. Never throws on any input. */
export function parseXml(input: string): Verdict<XmlElement> {
  if (input.length > XML_LIMITS.maxChars) {
    return fail(
      "INPUT_TOO_LARGE",
      `XML document of ${input.length} characters exceeds ${XML_LIMITS.maxChars}`,
    );
  }
  try {
    return ok(new Parser(input.replace(/\r\n?/g, "\n")).document());
  } catch (e) {
    if (e instanceof XmlError) return fail("INPUT_INVALID", `malformed XML: ${e.message}`);
    throw e;
  }
}

const WHITESPACE = /\s*/y;
const START_TAG = /<([^\s/>]+)/y;
const ATTRIBUTE = /([^\s=/>]+)\s*=\s*("([^"<]*)"|'([^'<]*)')/y;
const END_TAG = /<\/([^\s>]+)\s*>/y;

class Parser {
  pos = 0;
  constructor(readonly s: string) {
    if (s.charCodeAt(0) === 0xfeff) this.pos = 1;
  }

  /** Matches a sticky regex at the current position (without moving). */
  at(re: RegExp): RegExpExecArray | null {
    re.lastIndex = this.pos;
    return re.exec(this.s);
  }

  document(): XmlElement {
    this.misc();
    if (this.s.startsWith("<!DOCTYPE", this.pos)) throw new XmlError("DTDs are not supported");
    if (this.s[this.pos] !== "<") throw new XmlError("no document element");
    const root = this.element(null, new Map([["xml", XML_NS]]), 0);
    this.misc();
    if (this.pos !== this.s.length)
      throw new XmlError(`content after the document element at offset ${this.pos}`);
    return root;
  }

  /** Skips whitespace, comments, PIs and the XML declaration outside the document element. */
  misc(): void {
    for (;;) {
      this.pos += this.at(WHITESPACE)?.[0].length ?? 0;
      if (this.s.startsWith("<?", this.pos)) this.skipPast("?>", "processing instruction");
      else if (this.s.startsWith("<!--", this.pos)) this.skipPast("-->", "comment");
      else return;
    }
  }

  skipPast(end: string, what: string): void {
    const i = this.s.indexOf(end, this.pos);
    if (i < 0) throw new XmlError(`unterminated ${what} at offset ${this.pos}`);
    this.pos = i + end.length;
  }

  element(parent: XmlElement | null, inScope: ReadonlyMap<string, string>, depth: number): XmlElement {
    if (depth > XML_LIMITS.maxDepth) throw new XmlError("elements nested too deeply");
    const start = this.pos;
    const tag = this.at(START_TAG);
    if (!tag || !NAME.test(tag[1] as string)) throw new XmlError(`bad start tag at offset ${start}`);
    const qname = tag[1] as string;
    this.pos += tag[0].length;
    const rawAttributes: [string, string][] = [];
    let selfClosing = false;
    for (;;) {
      const ws = this.at(WHITESPACE)?.[0].length ?? 0;
      this.pos += ws;
      if (this.s.startsWith("/>", this.pos)) {
        this.pos += 2;
        selfClosing = true;
        break;
      }
      if (this.s[this.pos] === ">") {
        this.pos++;
        break;
      }
      const attr = this.at(ATTRIBUTE);
      if (!attr || !NAME.test(attr[1] as string))
        throw new XmlError(`bad attribute in <${qname}> at offset ${this.pos}`);
      if (ws === 0) throw new XmlError(`attributes must be separated by whitespace in <${qname}>`);
      const raw = (attr[3] ?? attr[4]) as string;
      // Attribute-value normalization (XML 1.0 §3.3.3, CDATA type): literal whitespace becomes a space.
      const value = decodeEntities(raw.replace(/[\t\n]/g, " "), this.pos);
      if (rawAttributes.some(([n]) => n === attr[1]))
        throw new XmlError(`duplicate attribute ${attr[1]} in <${qname}>`);
      rawAttributes.push([attr[1] as string, value]);
      this.pos += attr[0].length;
    }
    const declared = new Map<string, string>();
    for (const [name, value] of rawAttributes) {
      if (name === "xmlns") declared.set("", value);
      else if (name.startsWith("xmlns:")) {
        const prefix = name.slice(6);
        if (value === "") throw new XmlError(`namespace prefix ${prefix} undeclared with an empty URI`);
        declared.set(prefix, value);
      }
    }
    const scope = new Map(inScope);
    for (const [p, uri] of declared) scope.set(p, uri);
    const resolve = (prefix: string, forAttribute: boolean): string => {
      if (prefix === "" && forAttribute) return "";
      const uri = scope.get(prefix);
      if (uri === undefined) {
        if (prefix === "") return "";
        throw new XmlError(`undeclared namespace prefix "${prefix}"`);
      }
      return uri;
    };
    const attributes: XmlAttribute[] = [];
    for (const [name, value] of rawAttributes) {
      if (name === "xmlns" || name.startsWith("xmlns:")) continue;
      const [prefix, local] = split(name);
      if (prefix === "xml") throw new XmlError(`xml:${local} attributes are not supported`);
      attributes.push({ qname: name, prefix, local, namespace: resolve(prefix, true), value });
    }
    const seen = new Set(attributes.map((a) => `${a.namespace}\u0000${a.local}`));
    if (seen.size !== attributes.length)
      throw new XmlError(`duplicate expanded attribute name in <${qname}>`);
    const [prefix, local] = split(qname);
    const children: XmlNode[] = [];
    const el: XmlElement = {
      kind: "element",
      qname,
      prefix,
      local,
      namespace: resolve(prefix, false),
      attributes,
      namespaces: declared,
      children,
      parent,
    };
    if (selfClosing) return el;
    let text = "";
    const flush = () => {
      if (text) children.push({ kind: "text", text });
      text = "";
    };
    for (;;) {
      const lt = this.s.indexOf("<", this.pos);
      if (lt < 0) throw new XmlError(`<${qname}> is never closed`);
      const chunk = this.s.slice(this.pos, lt);
      if (chunk.includes("]]>")) throw new XmlError("']]>' in character data");
      text += decodeEntities(chunk, this.pos);
      this.pos = lt;
      if (this.s.startsWith("</", this.pos)) {
        const close = this.at(END_TAG);
        if (!close || close[1] !== qname)
          throw new XmlError(`</${close?.[1] ?? "?"}> does not close <${qname}> at offset ${this.pos}`);
        this.pos += close[0].length;
        flush();
        return el;
      }
      if (this.s.startsWith("<!--", this.pos)) this.skipPast("-->", "comment");
      else if (this.s.startsWith("<?", this.pos)) this.skipPast("?>", "processing instruction");
      else if (this.s.startsWith("<![CDATA[", this.pos)) {
        const end = this.s.indexOf("]]>", this.pos);
        if (end < 0) throw new XmlError("unterminated CDATA section");
        text += this.s.slice(this.pos + 9, end);
        this.pos = end + 3;
      } else if (this.s.startsWith("<!", this.pos))
        throw new XmlError(`markup declarations are not supported (offset ${this.pos})`);
      else {
        flush();
        children.push(this.element(el, scope, depth + 1));
      }
    }
  }
}

/** Namespace declarations in scope at an element (prefix "" = default namespace). */
export function namespacesInScope(el: XmlElement): Map<string, string> {
  const chain: XmlElement[] = [];
  for (let e: XmlElement | null = el; e; e = e.parent) chain.unshift(e);
  const scope = new Map<string, string>();
  for (const e of chain) for (const [p, uri] of e.namespaces) scope.set(p, uri);
  // An empty default namespace is "no default namespace".
  if (scope.get("") === "") scope.delete("");
  return scope;
}

const escapeText = (t: string) =>
  t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r/g, "&#xD;");
const escapeAttr = (t: string) =>
  t
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/"/g, "&quot;")
    .replace(/\t/g, "&#x9;")
    .replace(/\n/g, "&#xA;")
    .replace(/\r/g, "&#xD;");

const codeUnitOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Inclusive Canonical XML 1.1 (no comments) of the subtree at `apex`, as a document subset: the apex
 * renders every namespace in scope (including those declared on ancestors), descendants only the
 * declarations that change what their rendered parent had. `exclude` drops an element and its
 * subtree (the enveloped-signature transform).
 */
export function canonicalize(apex: XmlElement, exclude: XmlElement | null = null): string {
  const out: string[] = [];
  const render = (
    el: XmlElement,
    parentScope: ReadonlyMap<string, string>,
    scope: ReadonlyMap<string, string>,
  ) => {
    const decls = [...scope.entries()]
      .filter(([p, uri]) => parentScope.get(p) !== uri)
      .sort(([a], [b]) => codeUnitOrder(a, b));
    // A default namespace undeclared relative to the parent renders as xmlns="".
    const undeclareDefault = !scope.has("") && parentScope.has("");
    let tag = `<${el.qname}`;
    if (undeclareDefault) tag += ' xmlns=""';
    for (const [p, uri] of decls)
      tag += p === "" ? ` xmlns="${escapeAttr(uri)}"` : ` xmlns:${p}="${escapeAttr(uri)}"`;
    const attrs = [...el.attributes].sort(
      (a, b) => codeUnitOrder(a.namespace, b.namespace) || codeUnitOrder(a.local, b.local),
    );
    for (const a of attrs) tag += ` ${a.qname}="${escapeAttr(a.value)}"`;
    out.push(`${tag}>`);
    for (const child of el.children) {
      if (child.kind === "text") out.push(escapeText(child.text));
      else if (child !== exclude) {
        const childScope = new Map(scope);
        for (const [p, uri] of child.namespaces) {
          if (p === "" && uri === "") childScope.delete("");
          else childScope.set(p, uri);
        }
        render(child, scope, childScope);
      }
    }
    out.push(`</${el.qname}>`);
  };
  const scope = namespacesInScope(apex);
  scope.delete("xml");
  render(apex, new Map(), scope);
  return out.join("");
}

/** Child elements of `el` with a namespace and local name. */
export function childElements(el: XmlElement, namespace: string, local: string): XmlElement[] {
  return el.children.filter(
    (c): c is XmlElement => c.kind === "element" && c.namespace === namespace && c.local === local,
  );
}

/** The concatenated text content of an element (direct text children only). */
export function textContent(el: XmlElement): string {
  return el.children.map((c) => (c.kind === "text" ? c.text : "")).join("");
}

/** An attribute value by namespace ("" for unprefixed) and local name. */
export function attribute(el: XmlElement, local: string, namespace = ""): string | undefined {
  return el.attributes.find((a) => a.local === local && a.namespace === namespace)?.value;
}
