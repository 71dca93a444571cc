// Holds the LevelDB database at argv[2] open with classic-level (as a running
// NodeHost holds its partitions), prints "locked", and keeps it until killed
// or until its stdin ends (so it never outlives the test process).
import { ClassicLevel } from 'classic-level';

const db = new ClassicLevel(process.argv[2], { keyEncoding: 'view', valueEncoding: 'view' });
await db.open({ createIfMissing: false });
process.stdout.write('locked\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
