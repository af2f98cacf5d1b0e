// What a message's files and the composer's uploads look like in the DOM: previews only for
// inline images, links that always download, filenames as text, progress and remove buttons.
import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AttachmentList, UploadList } from '../src/attachments';
import type { Attachment } from '../src/types';
import type { Upload } from '../src/uploads';

function att(id: number, extra: Partial<Attachment> = {}): Attachment {
  return {
    id, room: 1, uploader: 1, filename: `f${id}.png`, content_type: 'image/png', size: 52311, sha256: 'x'.repeat(64),
    created_at: '2026-11-24T07:00:00Z', message_id: 5, state: 'ready', inline: true, thumbnail: false, ...extra,
  };
}

let root: HTMLElement | null = null;
function mount(vnode: preact.ComponentChild): HTMLElement {
  root = document.createElement('div');
  document.body.appendChild(root);
  act(() => render(vnode, root!));
  return root;
}
afterEach(() => {
  if (root) render(null, root);
  root?.remove();
  root = null;
  delete (window as any).__xss;
});

describe('AttachmentList', () => {
  it('previews an inline image lazily and links the download with name and size', () => {
    const el = mount(<AttachmentList list={[att(7, { filename: 'photo.png' })]} />);
    const img = el.querySelector('img.preview') as HTMLImageElement;
    expect(img.getAttribute('src')).toBe('/api/v1/attachments/7');
    expect(img.getAttribute('loading')).toBe('lazy');
    expect(img.getAttribute('alt')).toBe('photo.png');
    expect(img.getAttribute('style')).toBeNull(); // sizes come from the stylesheet (CSP style-src 'self')
    const link = el.querySelector('a.file-link')!;
    expect(link.getAttribute('href')).toBe('/api/v1/attachments/7?download=1');
    expect(link.textContent).toBe('📎 photo.png');
    expect(el.querySelector('.file')!.textContent).toBe('📎 photo.png 51 KB');
  });

  it('uses the thumbnail once there is one', () => {
    const el = mount(<AttachmentList list={[att(7, { thumbnail: true })]} />);
    expect(el.querySelector('img')!.getAttribute('src')).toBe('/api/v1/attachments/7/thumbnail');
    expect(el.querySelector('a.preview-link')!.getAttribute('href')).toBe('/api/v1/attachments/7');
  });

  it('falls back from a missing thumbnail to the image, then to no preview', () => {
    const el = mount(<AttachmentList list={[att(7, { thumbnail: true })]} />);
    act(() => void el.querySelector('img')!.dispatchEvent(new Event('error')));
    expect(el.querySelector('img')!.getAttribute('src')).toBe('/api/v1/attachments/7');
    act(() => void el.querySelector('img')!.dispatchEvent(new Event('error')));
    expect(el.querySelector('img')).toBeNull();
    expect(el.querySelector('a.file-link')).not.toBeNull();
  });

  it('shows no preview for files that are not inline images (SVG included)', () => {
    const el = mount(
      <AttachmentList
        list={[
          att(1, { filename: 'report.pdf', content_type: 'application/pdf', inline: false, size: 3 * 1024 * 1024 }),
          att(2, { filename: 'logo.svg', content_type: 'image/svg+xml', inline: false, size: 900 }),
        ]}
      />,
    );
    expect(el.querySelector('img')).toBeNull();
    expect([...el.querySelectorAll('.file')].map((f) => f.textContent)).toEqual(['📎 report.pdf 3.0 MB', '📎 logo.svg 900 B']);
  });

  it('keeps hostile filenames as text', () => {
    const name = '<img src=x onerror="window.__xss=1">.png';
    const el = mount(<AttachmentList list={[att(3, { filename: name }), att(4, { filename: name, state: 'scanning' })]} />);
    expect(el.querySelectorAll('img').length).toBe(1); // our preview only
    expect(el.querySelector('img')!.getAttribute('src')).toBe('/api/v1/attachments/3');
    expect(el.querySelector('img')!.getAttribute('alt')).toBe(name);
    expect(el.querySelector('a.file-link')!.textContent).toBe('📎 ' + name);
    expect(el.querySelector('.attachment.scanning')!.textContent).toContain(name);
    expect((window as any).__xss).toBeUndefined();
  });

  it('shows "scanning…" instead of a link and asks for the scan to be watched', () => {
    const watch = vi.fn();
    const a = att(5, { state: 'scanning' });
    const el = mount(<AttachmentList list={[a, att(6)]} onScanning={watch} />);
    const item = el.querySelector('.attachment.scanning')!;
    expect(item.textContent).toContain('scanning…');
    expect(item.querySelector('a, img')).toBeNull();
    expect(watch).toHaveBeenCalledTimes(1);
    expect(watch).toHaveBeenCalledWith(a);
  });

  it('never links a file the malware scan rejected', () => {
    const el = mount(<AttachmentList list={[att(8, { state: 'rejected', filename: 'x.exe', inline: false })]} />);
    expect(el.querySelector('a, img')).toBeNull();
    expect(el.textContent).toContain('x.exe');
    expect(el.textContent).toContain('malware');
  });
});

describe('UploadList', () => {
  const ups: Upload[] = [
    { key: 'a', name: 'big.mov', size: 1000, sent: 420, state: 'uploading' },
    { key: 'b', name: 'done.png', size: 10, sent: 10, state: 'done', attachment: att(9) },
    { key: 'c', name: 'huge.iso', size: 10, sent: 0, state: 'failed', error: 'storage quota exceeded' },
  ];

  it('renders nothing without uploads or hint', () => {
    const el = mount(<UploadList uploads={[]} hint="" onRemove={() => {}} />);
    expect(el.innerHTML).toBe('');
  });

  it('shows a labelled progress bar, the done mark and the server error', () => {
    const el = mount(<UploadList uploads={ups} hint="" onRemove={() => {}} />);
    const items = el.querySelectorAll('li.upload');
    expect(items.length).toBe(3);
    const bar = items[0].querySelector('progress')!;
    expect(bar.getAttribute('aria-label')).toBe('Uploading big.mov');
    expect(bar.getAttribute('aria-valuenow')).toBe('42');
    expect(bar.getAttribute('max')).toBe('100');
    expect(items[0].textContent).toContain('42%');
    expect(items[1].querySelector('progress')).toBeNull();
    expect(items[1].querySelector('[aria-label=uploaded]')).not.toBeNull();
    expect(items[2].querySelector('[role=alert]')!.textContent).toBe('storage quota exceeded');
  });

  it('has a remove button per file that reports which one', () => {
    const remove = vi.fn();
    const el = mount(<UploadList uploads={ups} hint="" onRemove={remove} />);
    const buttons = [...el.querySelectorAll('button')];
    expect(buttons.map((b) => b.getAttribute('aria-label'))).toEqual(['Remove big.mov', 'Remove done.png', 'Remove huge.iso']);
    expect(buttons.every((b) => b.getAttribute('type') === 'button')).toBe(true); // never submits the message
    buttons[1].click();
    expect(remove).toHaveBeenCalledWith(ups[1]);
  });

  it('shows the hint as a status line', () => {
    const el = mount(<UploadList uploads={[ups[0]]} hint="wait for it" onRemove={() => {}} />);
    expect(el.querySelector('[role=status]')!.textContent).toBe('wait for it');
  });
});
