import { describe, expect, it } from 'vitest';
import { describeAgent } from '../src/dialogs';
describe('describeAgent', () => {
  it('summarizes common user agents', () => {
    expect(describeAgent('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36')).toBe('Chrome 156 on Linux');
    expect(describeAgent('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0')).toBe('Firefox 140 on Windows');
    expect(describeAgent('curl/7.88.1')).toBe('curl 7.88.1');
    expect(describeAgent('')).toBe('Unknown client');
  });
});
