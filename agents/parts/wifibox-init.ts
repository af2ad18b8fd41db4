// wifibox-init's runtime, one Node process with two parts:
//   - the guest's network (agents/init), for as long as the runtime runs;
//   - the passthrough (agents/passthru), while rc-service uds_passthru has it started.
// Both face the host and need root; one runtime for both saves a whole Node (7 MB, and its start
// on the guest's one vCPU at every resume). wifibox-forward, which faces the wireless network,
// runs apart and without root. A fault in the passthrough's code is contained (switch.ts): the
// network part, its daemons and the DNS relay go on.
import { join } from 'node:path';
import { residentUntilSignal } from '../common/cli';
import { startPassthru } from '../passthru/part';
import { startInit } from '../init/part';
import { PartSwitch } from './switch';
import { realSwitchSystem } from './system';

/** The folder of the parts' args and state files, in wifibox-init's own run folder. */
const PARTS_DIR = 'parts';

async function main(argv: string[]): Promise<void> {
  const init = startInit(argv);
  if (!init) return;
  const passthru = new PartSwitch('passthru', join(init.opts.runDir, PARTS_DIR), startPassthru, realSwitchSystem, init.log);
  residentUntilSignal(
    init.log,
    async () => {
      await passthru.stop();
      await init.down();
    },
    { failCode: 1 },
  );
  // The network part does not read its files again (restart the service to apply new ones); its
  // DNS relay forgets the answers it kept. The passthrough reads its config again.
  process.on('SIGHUP', () => {
    init.log.info(
      'SIGHUP: the passthrough reads uds_passthru.conf again, the DNS relay empties its cache; the network part does not reload (restart wifibox-init to apply new files)',
    );
    init.reload();
    passthru.reload();
  });
  const up = init.up();
  try {
    passthru.start();
  } catch (err) {
    init.log.error({ err: (err as Error).message }, 'the passthrough cannot be switched on');
  }
  await up;
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`wifibox-init: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
