// A test that reaches its end without checking anything passes for nothing: every test must make
// at least one assertion (an early return, a loop over nothing, a forgotten await all fail here).
import { beforeEach, expect } from 'vitest';

beforeEach(() => {
  expect.hasAssertions();
});
