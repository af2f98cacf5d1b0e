// Markdown AST -> Preact vnodes. Only fixed element names and fixed attributes are created;
// user text only ever becomes text nodes or a checked href. Never innerHTML.
import type { ComponentChildren } from 'preact';
import { parseMarkdown, type Block, type Inline } from './markdown';

function inline(nodes: Inline[], me: string | undefined): ComponentChildren[] {
  return nodes.map((n, i) => {
    switch (n.t) {
      case 'text':
        return n.v;
      case 'br':
        return <br key={i} />;
      case 'code':
        return <code key={i}>{n.v}</code>;
      case 'em':
        return <em key={i}>{inline(n.c, me)}</em>;
      case 'strong':
        return <strong key={i}>{inline(n.c, me)}</strong>;
      case 'del':
        return <del key={i}>{inline(n.c, me)}</del>;
      case 'link':
        return (
          <a key={i} href={n.href} target="_blank" rel="noopener noreferrer nofollow">
            {inline(n.c, me)}
          </a>
        );
      case 'mention':
        return (
          <span key={i} class={n.user === me ? 'mention mention-me' : 'mention'}>
            @{n.user}
          </span>
        );
    }
  });
}

function block(b: Block, i: number, me: string | undefined): ComponentChildren {
  switch (b.t) {
    case 'para':
      return <p key={i}>{inline(b.c, me)}</p>;
    case 'code':
      return (
        <pre key={i}>
          <code data-lang={b.lang || undefined}>{b.v}</code>
        </pre>
      );
    case 'quote':
      return <blockquote key={i}>{b.c.map((c, j) => block(c, j, me))}</blockquote>;
  }
}

// The rendered body of a message; `me` highlights mentions of the current user.
export function Markdown({ text, me }: { text: string; me?: string }) {
  return <div class="md">{parseMarkdown(text).map((b, i) => block(b, i, me))}</div>;
}
