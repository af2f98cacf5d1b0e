import { describe, expect, it } from 'vitest';
import { takeTokenFromFragment } from '../src/email_links';

describe('tokens from email links', () => {
  it('takes exactly a 43-character base64url token from #token=', () => {
    const t = 'A'.repeat(40) + '-_9';
    expect(takeTokenFromFragment('#token=' + t)).toBe(t);
  });
  it('refuses anything else', () => {
    for (const h of ['', '#', '#token=', '#token=short', '#token=' + 'A'.repeat(44), '#token=' + 'A'.repeat(42) + '%',
      '#x=1&token=' + 'A'.repeat(43), '#token=' + 'A'.repeat(43) + '&next=//evil.example'])
      expect(takeTokenFromFragment(h)).toBe('');
  });
});
