// XSS: whatever a message body contains, the rendered DOM holds only our fixed elements,
// no event handler attributes, and links only to http, https and mailto.
import { render } from 'preact';
import { afterEach, describe, expect, it } from 'vitest';
import { Markdown } from '../src/render';

const payloads = [
  '<img src=x onerror="window.__xss=1">',
  '<script>window.__xss=1</script>',
  '<svg/onload=window.__xss=1>',
  '<iframe src="javascript:window.__xss=1"></iframe>',
  '[click me](javascript:window.__xss=1)',
  '[click me](JAVASCRIPT:window.__xss=1)',
  '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '[x](vbscript:msgbox)',
  '[x](https://ok.example" onmouseover="window.__xss=1)',
  '[<img src=x onerror=window.__xss=1>](https://ok.example)',
  '**<b onclick=window.__xss=1>bold</b>**',
  '`<img src=x onerror=window.__xss=1>`',
  '```\n<script>window.__xss=1</script>\n```',
  '> <img src=x onerror=window.__xss=1>',
  'https://ok.example/"><img src=x onerror=window.__xss=1>',
  '@<img/src/onerror=window.__xss=1>',
  '<a href="javascript:window.__xss=1">a</a>',
  '&lt;img src=x onerror=window.__xss=1&gt;',
  '\u202e<img src=x onerror=window.__xss=1>',
  '[x](https://ok.example)<style>*{display:none}</style>',
];

const allowedTags = new Set(['DIV', 'P', 'BR', 'CODE', 'PRE', 'EM', 'STRONG', 'DEL', 'A', 'SPAN', 'BLOCKQUOTE']);
const allowedAttrs = new Set(['class', 'href', 'target', 'rel', 'data-lang']);

let root: HTMLElement | null = null;
afterEach(() => {
  if (root) render(null, root);
  root?.remove();
  root = null;
  delete (window as any).__xss;
});

function renderBody(text: string): HTMLElement {
  root = document.createElement('div');
  document.body.appendChild(root);
  render(<Markdown text={text} me="alice" />, root);
  return root;
}

describe('Markdown renderer with hostile input', () => {
  for (const p of payloads) {
    it(`keeps ${JSON.stringify(p)} inert`, () => {
      const el = renderBody(p);
      for (const node of el.querySelectorAll('*')) {
        expect(allowedTags.has(node.tagName), node.tagName).toBe(true);
        for (const a of node.getAttributeNames()) {
          expect(allowedAttrs.has(a), `${node.tagName}[${a}]`).toBe(true);
          expect(a.startsWith('on')).toBe(false);
        }
      }
      for (const a of el.querySelectorAll('a')) {
        expect(['http:', 'https:', 'mailto:']).toContain(new URL(a.getAttribute('href')!).protocol);
        expect(a.getAttribute('rel')).toBe('noopener noreferrer nofollow');
        expect(a.getAttribute('target')).toBe('_blank');
      }
      expect(el.querySelector('img, script, iframe, svg, style, object, embed, form, input')).toBeNull();
      expect((window as any).__xss).toBeUndefined();
    });
  }

  it('shows the payload as text', () => {
    const el = renderBody('<img src=x onerror="window.__xss=1">');
    expect(el.textContent).toBe('<img src=x onerror="window.__xss=1">');
  });

  it('renders the safe subset', () => {
    const el = renderBody('**b** *i* `c` [l](https://example.org) @alice @bob\n```\nx\n```');
    expect(el.querySelector('strong')!.textContent).toBe('b');
    expect(el.querySelector('em')!.textContent).toBe('i');
    expect(el.querySelector('p code')!.textContent).toBe('c');
    expect(el.querySelector('a')!.getAttribute('href')).toBe('https://example.org/');
    expect(el.querySelector('.mention-me')!.textContent).toBe('@alice');
    expect(el.querySelectorAll('.mention').length).toBe(2);
    expect(el.querySelector('pre code')!.textContent).toBe('x');
  });
});
