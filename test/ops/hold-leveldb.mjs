// Holds the LevelDB database at argv[2] open with classic-level (as a running
// NodeHost holds its partitions) until killed.
import { ClassicLevel } from 'classic-level';

const db = new ClassicLevel(process.argv[2], { keyEncoding: 'view', valueEncoding: 'view' });
await db.open({ createIfMissing: false });
process.stdout.write('locked\n');
setInterval(() => undefined, 60_000);
