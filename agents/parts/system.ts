// The part switch's side effects: its folder, the args and state files, inotify, a timer.
import { watch } from 'node:fs';
import { writeFileAtomic } from '../common/files';
import { makePrivateDir, readOwnFile } from '../common/runtime';
import { after } from '../common/timer';
import type { SwitchSystem } from './switch';

export const realSwitchSystem: SwitchSystem = {
  // Only a regular file of root's that no one else may write: a symlink or a stranger's file planted
  // in the parts folder is refused, never followed.
  read: readOwnFile,
  writeAtomic: (path, text) => writeFileAtomic(path, text),
  makePrivateDir: (path) => makePrivateDir(path),
  watchDir(dir, onChange) {
    const w = watch(dir, { persistent: false }, (_event, name) => onChange(name === null ? null : String(name)));
    // The folder went (the run folder removed by hand): nothing more to follow until a restart.
    w.on('error', () => w.close());
    return { close: () => w.close() };
  },
  after,
  now: () => Date.now(),
};
