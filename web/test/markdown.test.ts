import { describe, expect, it } from 'vitest';
import { parseInline, parseMarkdown, safeHref } from '../src/markdown';

describe('safeHref', () => {
  it('accepts http, https and mailto', () => {
    expect(safeHref('https://example.org/a?b=1')).toBe('https://example.org/a?b=1');
    expect(safeHref('http://example.org')).toBe('http://example.org/');
    expect(safeHref('mailto:bob@example.org')).toBe('mailto:bob@example.org');
  });
  it('rejects every other scheme, relative URLs and smuggling tricks', () => {
    for (const bad of [
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      ' javascript:alert(1)',
      'java\tscript:alert(1)',
      'java\nscript:alert(1)',
      'javascript&colon;alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox(1)',
      'file:///etc/passwd',
      '//evil.example/x',
      '/relative',
      'https:/\u0000/x',
      'http://',
      '',
    ]) {
      expect(safeHref(bad), bad).toBeNull();
    }
  });
});

describe('parseInline', () => {
  it('parses code, emphasis, strong, strike', () => {
    expect(parseInline('a `x<y>` **b** *c* _d_ ~~e~~')).toEqual([
      { t: 'text', v: 'a ' },
      { t: 'code', v: 'x<y>' },
      { t: 'text', v: ' ' },
      { t: 'strong', c: [{ t: 'text', v: 'b' }] },
      { t: 'text', v: ' ' },
      { t: 'em', c: [{ t: 'text', v: 'c' }] },
      { t: 'text', v: ' ' },
      { t: 'em', c: [{ t: 'text', v: 'd' }] },
      { t: 'text', v: ' ' },
      { t: 'del', c: [{ t: 'text', v: 'e' }] },
    ]);
  });
  it('keeps markup inside code spans literal', () => {
    expect(parseInline('`**not bold** [x](https://a.b)`')).toEqual([{ t: 'code', v: '**not bold** [x](https://a.b)' }]);
  });
  it('makes links only for allowed schemes', () => {
    expect(parseInline('[site](https://example.org)')).toEqual([
      { t: 'link', href: 'https://example.org/', c: [{ t: 'text', v: 'site' }] },
    ]);
    expect(parseInline('[click](javascript:alert(1))')).toEqual([{ t: 'text', v: '[click](javascript:alert(1))' }]);
  });
  it('autolinks bare URLs without trailing punctuation', () => {
    expect(parseInline('see https://example.org/x.')).toEqual([
      { t: 'text', v: 'see ' },
      { t: 'link', href: 'https://example.org/x', c: [{ t: 'text', v: 'https://example.org/x' }] },
      { t: 'text', v: '.' },
    ]);
  });
  it('finds mentions but not e-mail addresses', () => {
    expect(parseInline('hi @Bob.')).toEqual([{ t: 'text', v: 'hi ' }, { t: 'mention', user: 'bob' }, { t: 'text', v: '.' }]);
    expect(parseInline('mail a@example.org')).toEqual([{ t: 'text', v: 'mail a@example.org' }]);
  });
  it('does not nest links and treats unbalanced markers as text', () => {
    expect(parseInline('**open and *never closed')).toEqual([{ t: 'text', v: '**open and *never closed' }]);
    expect(parseInline('2 * 3 * 4')).toEqual([{ t: 'text', v: '2 * 3 * 4' }]);
  });
  it('terminates on pathological input', () => {
    const s = '*'.repeat(5000) + '_'.repeat(5000) + '['.repeat(2000) + '`'.repeat(3000);
    const t0 = Date.now();
    parseMarkdown(s);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('parseMarkdown', () => {
  it('parses fenced code blocks verbatim', () => {
    expect(parseMarkdown('before\n```js\nconst a = "<b>";\n**x**\n```\nafter')).toEqual([
      { t: 'para', c: [{ t: 'text', v: 'before' }] },
      { t: 'code', lang: 'js', v: 'const a = "<b>";\n**x**' },
      { t: 'para', c: [{ t: 'text', v: 'after' }] },
    ]);
  });
  it('keeps line breaks and splits paragraphs on blank lines', () => {
    expect(parseMarkdown('a\nb\n\nc')).toEqual([
      { t: 'para', c: [{ t: 'text', v: 'a' }, { t: 'br' }, { t: 'text', v: 'b' }] },
      { t: 'para', c: [{ t: 'text', v: 'c' }] },
    ]);
  });
  it('parses quotes', () => {
    expect(parseMarkdown('> quoted *x*\nplain')).toEqual([
      { t: 'quote', c: [{ t: 'para', c: [{ t: 'text', v: 'quoted ' }, { t: 'em', c: [{ t: 'text', v: 'x' }] }] }] },
      { t: 'para', c: [{ t: 'text', v: 'plain' }] },
    ]);
  });
});
