/**
 * A minimal, strict XML parser for checking the JUnit report without adding a dependency: it
 * rejects anything not well-formed (unbalanced tags, bare `<` or `&`, unknown entities, duplicate
 * attributes, characters XML 1.0 forbids) and returns a plain element tree.
 */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text content directly inside this element (entities decoded). */
  text: string;
}

const nameRe = /^[A-Za-z_][\w.-]*/;
// eslint-disable-next-line no-control-regex
const forbiddenChar = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export function parseXml(source: string): XmlElement {
  if (forbiddenChar.test(source)) throw new Error('document contains a character XML 1.0 forbids');
  let at = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at offset ${at}: ${JSON.stringify(source.slice(at, at + 40))}`);
  };
  const skipSpace = () => {
    while (at < source.length && /\s/.test(source[at]!)) at++;
  };
  const decode = (raw: string): string => {
    if (/[<]/.test(raw)) fail('bare < in text or attribute');
    return raw.replace(/&([^;]*);?/g, (match, entity: string) => {
      if (!match.endsWith(';')) fail('bare & in text or attribute');
      const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
      if (entity in named) return named[entity]!;
      const numeric = /^#(x[0-9A-Fa-f]+|[0-9]+)$/.exec(entity);
      if (!numeric) return fail(`unknown entity &${entity};`);
      const code = numeric[1]!.startsWith('x') ? parseInt(numeric[1]!.slice(1), 16) : parseInt(numeric[1]!, 10);
      const char = String.fromCodePoint(code);
      if (forbiddenChar.test(char)) fail(`character reference &${entity}; is not allowed in XML 1.0`);
      return char;
    });
  };

  skipSpace();
  if (source.startsWith('<?xml', at)) {
    const end = source.indexOf('?>', at);
    if (end < 0) fail('unterminated XML declaration');
    at = end + 2;
    skipSpace();
  }

  const parseElement = (): XmlElement => {
    if (source[at] !== '<') fail('expected an element');
    at++;
    const name = nameRe.exec(source.slice(at))?.[0] ?? fail('expected an element name');
    at += name.length;
    const element: XmlElement = { name, attributes: {}, children: [], text: '' };
    for (;;) {
      const before = at;
      skipSpace();
      if (source.startsWith('/>', at)) {
        at += 2;
        return element;
      }
      if (source[at] === '>') {
        at++;
        break;
      }
      if (at === before) fail('expected whitespace before an attribute');
      const attribute = nameRe.exec(source.slice(at))?.[0] ?? fail('expected an attribute name');
      at += attribute.length;
      if (source[at] !== '=' || source[at + 1] !== '"') fail('expected ="value"');
      const end = source.indexOf('"', at + 2);
      if (end < 0) fail('unterminated attribute value');
      if (attribute in element.attributes) fail(`duplicate attribute ${attribute}`);
      element.attributes[attribute] = decode(source.slice(at + 2, end));
      at = end + 1;
    }
    for (;;) {
      const next = source.indexOf('<', at);
      if (next < 0) fail(`unterminated element ${name}`);
      element.text += decode(source.slice(at, next));
      at = next;
      if (source.startsWith('</', at)) {
        at += 2;
        if (!source.startsWith(name, at)) fail(`mismatched closing tag, expected </${name}>`);
        at += name.length;
        skipSpace();
        if (source[at] !== '>') fail('expected >');
        at++;
        return element;
      }
      if (source.startsWith('<!--', at)) {
        const end = source.indexOf('-->', at);
        if (end < 0) fail('unterminated comment');
        at = end + 3;
        continue;
      }
      element.children.push(parseElement());
    }
  };

  const root = parseElement();
  skipSpace();
  if (at !== source.length) fail('content after the root element');
  return root;
}

export function descendants(element: XmlElement, name: string): XmlElement[] {
  return element.children.flatMap((child) => [...(child.name === name ? [child] : []), ...descendants(child, name)]);
}
