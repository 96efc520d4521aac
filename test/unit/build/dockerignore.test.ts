import { describe, expect, it } from 'vitest';
import { cleanPath, DockerIgnore } from '../../../src/engine/build/dockerignore.js';
import { packFolder } from '../../../src/engine/build/folder.js';
import { DockerArgumentError } from '../../../src/engine/index.js';
import { removeFolders, tempFolder } from '../../helpers/build.js';
import { readTar } from '../../helpers/tar.js';

function ignored(patterns: string, paths: string[]): string[] {
  const ignore = DockerIgnore.parse(patterns);
  return paths.filter((p) => ignore.ignores(p));
}

describe('DockerIgnore', () => {
  it('skips blank lines and # comments, trims spaces', () => {
    expect(ignored('\n# a.txt\n  b.txt  \n', ['a.txt', 'b.txt'])).toEqual(['b.txt']);
  });

  it('* and ? stay within one path component', () => {
    expect(ignored('*.log', ['a.log', 'dir/a.log', 'a.logx'])).toEqual(['a.log']);
    expect(ignored('dir/?.txt', ['dir/a.txt', 'dir/ab.txt', 'dir/x/a.txt'])).toEqual(['dir/a.txt']);
    expect(ignored('*/*.log', ['a.log', 'dir/a.log', 'dir/sub/a.log'])).toEqual(['dir/a.log']);
  });

  it('** matches any number of folders, including none', () => {
    const paths = ['a.tmp', 'x/a.tmp', 'x/y/z/a.tmp', 'x/a.txt'];
    expect(ignored('**/*.tmp', paths)).toEqual(['a.tmp', 'x/a.tmp', 'x/y/z/a.tmp']);
    expect(ignored('docs/**/draft*', ['docs/draft1', 'docs/a/b/draft2', 'docs/a/final', 'other/draft'])).toEqual([
      'docs/draft1',
      'docs/a/b/draft2',
    ]);
    expect(ignored('x/**', ['x', 'x/a', 'x/b/c', 'y/x'])).toEqual(['x/a', 'x/b/c']);
  });

  it('a pattern that matches a folder leaves out everything inside it', () => {
    expect(ignored('node_modules', ['node_modules/a/index.js', 'src/node_modules.ts'])).toEqual(['node_modules/a/index.js']);
    expect(ignored('build/*', ['build/out/x.o', 'build/y.o', 'build'])).toEqual(['build/out/x.o', 'build/y.o']);
  });

  it('! exceptions re-include, and the last matching line wins', () => {
    expect(ignored('*.md\n!README.md', ['a.md', 'README.md'])).toEqual(['a.md']);
    expect(ignored('*.md\n!README*.md\nREADME-secret.md', ['README.md', 'README-secret.md', 'b.md'])).toEqual(['README-secret.md', 'b.md']);
    expect(ignored('!keep\n*', ['keep', 'other'])).toEqual(['keep', 'other']);
    expect(ignored('secrets\n!secrets/public.pem', ['secrets/key', 'secrets/public.pem'])).toEqual(['secrets/key']);
  });

  it('patterns are cleaned like paths: leading /, ./ and trailing / do not matter', () => {
    expect(ignored('/a.txt\n./b.txt\nc/\nd//e', ['a.txt', 'b.txt', 'c/x', 'd/e'])).toEqual(['a.txt', 'b.txt', 'c/x', 'd/e']);
    expect(cleanPath('./a/../b//c/')).toBe('b/c');
    expect(cleanPath('/')).toBe('.');
  });

  it('character classes and escapes', () => {
    expect(ignored('file[0-9].txt', ['file1.txt', 'filex.txt'])).toEqual(['file1.txt']);
    expect(ignored('file[^0-9].txt', ['file1.txt', 'filex.txt'])).toEqual(['filex.txt']);
    expect(ignored('\\*.txt', ['*.txt', 'a.txt'])).toEqual(['*.txt']);
    expect(ignored('a+b.txt\n(c).txt', ['a+b.txt', 'aab.txt', '(c).txt'])).toEqual(['a+b.txt', '(c).txt']);
  });

  it('mayKeepInside says when a left-out folder must still be walked', () => {
    const ignore = DockerIgnore.parse('secrets\n!secrets/public.pem\nlogs');
    expect(ignore.mayKeepInside('secrets')).toBe(true);
    expect(ignore.mayKeepInside('logs')).toBe(false);
    expect(DockerIgnore.parse('a\n!**/*.keep').mayKeepInside('a')).toBe(true);
  });

  it('refuses malformed patterns with a DockerArgumentError naming the line', () => {
    expect(() => DockerIgnore.parse('file[0-9.txt')).toThrow(DockerArgumentError);
    expect(() => DockerIgnore.parse('file[0-9.txt')).toThrow(/file\[0-9\.txt/);
    expect(() => DockerIgnore.parse('trailing\\')).toThrow(/backslash/);
    expect(() => DockerIgnore.parse('!')).toThrow(/exception/);
  });
});

describe('packFolder', () => {
  it('packs what .dockerignore keeps, as 0:0, keeping the Dockerfile and .dockerignore', async () => {
    const dir = await tempFolder({
      Dockerfile: 'FROM scratch\n',
      '.dockerignore': 'Dockerfile\n.dockerignore\n*.log\nsecrets\n!secrets/public.pem\n',
      'app.js': 'x',
      'a.log': 'x',
      'secrets/key': 'k',
      'secrets/public.pem': 'p',
      'lib/util.js': 'u',
    });
    try {
      const entries = await readTar((await packFolder(dir, 'Dockerfile')).stream, () => true);
      expect(entries.map((e) => `${e.type} ${e.name}`).sort()).toEqual([
        'directory lib',
        'file .dockerignore',
        'file Dockerfile',
        'file app.js',
        'file lib/util.js',
        'file secrets/public.pem',
      ]);
      const app = entries.find((e) => e.name === 'app.js');
      expect(new TextDecoder().decode(app?.data)).toBe('x');
    } finally {
      await removeFolders([dir]);
    }
  });

  it('keeps symlinks as links and refuses a path that is not a folder', async () => {
    const dir = await tempFolder({ Dockerfile: 'FROM scratch\n', 'target.txt': 't' });
    try {
      const { symlink } = await import('node:fs/promises');
      await symlink('target.txt', `${dir}/link.txt`);
      const entries = await readTar((await packFolder(dir, 'Dockerfile')).stream, () => true);
      expect(entries.find((e) => e.name === 'link.txt')?.type).toBe('symlink');
      await expect(packFolder(`${dir}/target.txt`, 'Dockerfile')).rejects.toThrow(DockerArgumentError);
    } finally {
      await removeFolders([dir]);
    }
  });
});

describe('packFolder cancel', () => {
  it('stops the walk and closes the files it opened when the stream is not read to its end', async () => {
    const { readdirSync } = await import('node:fs');
    const files: Record<string, string> = { Dockerfile: 'FROM scratch\n' };
    for (let i = 0; i < 20; i++) files[`big${i}.bin`] = 'x'.repeat(1024 * 1024);
    const dir = await tempFolder(files);
    const openFiles = () => readdirSync('/proc/self/fd').length;
    const before = openFiles();
    try {
      const packed = await packFolder(dir, 'Dockerfile');
      const iterator = packed.stream[Symbol.asyncIterator]();
      await iterator.next(); // the walk has started and holds a file open
      packed.cancel(new Error('request failed'));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(openFiles()).toBeLessThanOrEqual(before);
    } finally {
      await removeFolders([dir]);
    }
  });
});
