// The diag bundle unpacked by busybox tar, the one the guest itself has (the lab installs busybox).
import { describe, it } from 'vitest';
import { expectTarExtractsBundle } from '../helpers/tar-extract';

describe('wifibox-diag bundle', () => {
  it('extracts with busybox tar to the same files', () => {
    expectTarExtractsBundle(['busybox', 'tar']);
  });
});
