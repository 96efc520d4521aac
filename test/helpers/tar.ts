import tar from 'tar-stream';

/** One entry of a tar stream read by {@link readTar}. */
export interface TarEntry {
  name: string;
  type: string;
  size: number;
  /** The contents, kept only for the entries `keep` asked for. */
  data?: Uint8Array;
}

/**
 * Reads a tar stream to the end (an export, a `docker save`): every entry's name, type and size,
 * and the contents of those `keep` selects. Nothing else is held in memory.
 */
export async function readTar(body: AsyncIterable<Uint8Array>, keep: (name: string) => boolean = () => false): Promise<TarEntry[]> {
  const extract = tar.extract();
  const entries: TarEntry[] = [];
  const feeding = (async () => {
    try {
      for await (const chunk of body) if (!extract.write(chunk)) await new Promise((resolve) => extract.once('drain', resolve));
      extract.end();
    } catch (error) {
      extract.destroy(error as Error);
    }
  })();
  for await (const entry of extract as AsyncIterable<tar.Entry>) {
    const name = entry.header.name.replace(/^\.?\//, '');
    const chunks: Buffer[] = [];
    for await (const chunk of entry as AsyncIterable<Buffer>) if (keep(name)) chunks.push(chunk);
    entries.push({
      name,
      type: entry.header.type ?? 'file',
      size: entry.header.size ?? 0,
      ...(keep(name) ? { data: new Uint8Array(Buffer.concat(chunks)) } : {}),
    });
  }
  await feeding;
  return entries;
}
