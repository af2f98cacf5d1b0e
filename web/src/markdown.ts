// A small, safe Markdown subset parsed into an AST (no HTML, ever).
// Blocks: paragraphs (single newlines are line breaks), fenced code blocks (```), quotes (> ).
// Inlines: `code`, **strong**, *em* / _em_, ~~strike~~, [text](url), bare http(s) URLs, @mentions.
// Anything that does not parse is text. Links whose scheme is not http, https or mailto are text.

export type Inline =
  | { t: 'text'; v: string }
  | { t: 'code'; v: string }
  | { t: 'em'; c: Inline[] }
  | { t: 'strong'; c: Inline[] }
  | { t: 'del'; c: Inline[] }
  | { t: 'link'; href: string; c: Inline[] }
  | { t: 'mention'; user: string }
  | { t: 'br' };

export type Block =
  | { t: 'para'; c: Inline[] }
  | { t: 'code'; lang: string; v: string }
  | { t: 'quote'; c: Block[] };

const allowedSchemes = new Set(['http:', 'https:', 'mailto:']);

// The normalized URL if it is absolute with an allowed scheme, else null.
export function safeHref(raw: string): string | null {
  const s = raw.trim();
  // No whitespace or control characters anywhere (they are how scheme checks get smuggled past).
  if (s.length === 0 || s.length > 2048 || /[\u0000-\u0020\u007f-\u009f]/.test(s)) return null;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return null;
  }
  if (!allowedSchemes.has(url.protocol)) return null;
  if (url.protocol !== 'mailto:' && !url.hostname) return null;
  return url.href;
}

const maxDepth = 6;

export function parseInline(src: string, depth = 0): Inline[] {
  const out: Inline[] = [];
  let text = '';
  const flush = () => {
    if (text) out.push({ t: 'text', v: text });
    text = '';
  };
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    const rest = src.slice(i);
    if (ch === '\n') {
      flush();
      out.push({ t: 'br' });
      i++;
      continue;
    }
    if (ch === '\\' && i + 1 < src.length && /[\\`*_~[\]()@>#-]/.test(src[i + 1])) {
      text += src[i + 1];
      i += 2;
      continue;
    }
    if (ch === '`') {
      const m = /^(`+)([^`][^]*?)\1(?!`)/.exec(rest);
      if (m) {
        flush();
        out.push({ t: 'code', v: m[2] });
        i += m[0].length;
        continue;
      }
    }
    if (depth < maxDepth) {
      const em = matchDelimited(rest, '**', 'strong') ?? matchDelimited(rest, '~~', 'del') ??
        matchDelimited(rest, '*', 'em') ?? (isWordBoundary(src, i) ? matchDelimited(rest, '_', 'em') : null);
      if (em) {
        flush();
        out.push({ t: em.kind, c: parseInline(em.inner, depth + 1) } as Inline);
        i += em.length;
        continue;
      }
      if (ch === '[') {
        const link = matchLink(rest);
        if (link) {
          const href = safeHref(link.url);
          if (href) {
            flush();
            out.push({ t: 'link', href, c: parseInline(link.text, depth + 1).filter((n) => n.t !== 'link') });
            i += link.length;
            continue;
          }
        }
      }
    }
    if ((ch === 'h' || ch === 'H') && isWordBoundary(src, i)) {
      const m = /^https?:\/\/[^\s<>"'`]+/i.exec(rest);
      if (m) {
        let url = m[0];
        // Trailing punctuation belongs to the sentence, not the URL.
        while (/[.,;:!?)\]}'"]$/.test(url) && !(url.endsWith(')') && url.includes('('))) url = url.slice(0, -1);
        const href = safeHref(url);
        if (href) {
          flush();
          out.push({ t: 'link', href, c: [{ t: 'text', v: url }] });
          i += url.length;
          continue;
        }
      }
    }
    if (ch === '@' && isWordBoundary(src, i)) {
      const m = /^@([a-z0-9][a-z0-9_.-]{1,31})/i.exec(rest);
      if (m) {
        const user = m[1].replace(/[.-]+$/, '');
        if (user.length >= 2) {
          flush();
          out.push({ t: 'mention', user: user.toLowerCase() });
          i += 1 + user.length;
          continue;
        }
      }
    }
    text += ch;
    i++;
  }
  flush();
  return out;
}

function isWordBoundary(src: string, i: number): boolean {
  return i === 0 || !/[\p{L}\p{N}_]/u.test(src[i - 1]);
}

function matchDelimited(rest: string, d: string, kind: 'em' | 'strong' | 'del') {
  if (!rest.startsWith(d)) return null;
  const after = rest[d.length];
  if (after === undefined || /\s/.test(after) || after === d[0]) return null;
  // The closing delimiter: not preceded by whitespace, not on another paragraph line.
  for (let j = d.length + 1; j <= rest.length - d.length; j++) {
    if (rest[j] === '\n') return null;
    if (rest.startsWith(d, j) && !/\s/.test(rest[j - 1]) && rest[j + d.length] !== d[0]) {
      return { kind, inner: rest.slice(d.length, j), length: j + d.length };
    }
  }
  return null;
}

function matchLink(rest: string) {
  const m = /^\[([^\[\]\n]{1,500})\]\(([^()\s]{1,2048})\)/.exec(rest);
  if (!m) return null;
  return { text: m[1], url: m[2], length: m[0].length };
}

export function parseMarkdown(src: string, depth = 0): Block[] {
  const lines = src.replace(/\r\n?/g, '\n').split('\n');
  const blocks: Block[] = [];
  let para: string[] = [];
  const endPara = () => {
    if (para.length) blocks.push({ t: 'para', c: parseInline(para.join('\n'), depth) });
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = /^\s{0,3}```\s*([\w+-]{0,20})\s*$/.exec(line);
    if (fence) {
      endPara();
      const body: string[] = [];
      let j = i + 1;
      while (j < lines.length && !/^\s{0,3}```\s*$/.test(lines[j])) body.push(lines[j++]);
      blocks.push({ t: 'code', lang: fence[1], v: body.join('\n') });
      i = j; // the closing fence (or the end: an unclosed fence runs to the end)
      continue;
    }
    if (/^>\s?/.test(line) && depth < 3) {
      endPara();
      const quoted: string[] = [];
      let j = i;
      while (j < lines.length && /^>\s?/.test(lines[j])) quoted.push(lines[j++].replace(/^>\s?/, ''));
      blocks.push({ t: 'quote', c: parseMarkdown(quoted.join('\n'), depth + 1) });
      i = j - 1;
      continue;
    }
    if (line.trim() === '') {
      endPara();
      continue;
    }
    para.push(line);
  }
  endPara();
  return blocks;
}

// Plain text of a body for previews and notifications (no markup).
export function plainText(src: string, max = 120): string {
  const s = src.replace(/\s+/g, ' ').trim();
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}
