/** The page's pure parts: a picked folder laid out as the CLI's image_folder, and its URL parameters. */
import { describe, expect, it } from 'vitest';
import { folderLayout } from '../../packages/web/src/folder-dataset';
import { parseUrlSettings } from '../../packages/web/src/url-settings';

describe('folderLayout', () => {
  it('class subfolders give labels in sorted order; files depth-first by name; hidden and non-image files skipped', () => {
    const layout = folderLayout([
      'pets/dogs/b.png',
      'pets/cats/z.jpg',
      'pets/cats/sub/a.png',
      'pets/cats/sub.png',
      'pets/cats/.hidden.png',
      'pets/.git/x.png',
      'pets/dogs/notes.txt',
      'pets/top.png',
    ]);
    expect(layout.root).toBe('pets');
    expect(layout.classNames).toEqual(['cats', 'dogs']);
    // A folder sorts before a file of the same stem ('sub' < 'sub.png'), as a directory walk does.
    expect(layout.entries).toEqual([
      { path: 'pets/cats/sub/a.png', label: 0 },
      { path: 'pets/cats/sub.png', label: 0 },
      { path: 'pets/cats/z.jpg', label: 0 },
      { path: 'pets/dogs/b.png', label: 1 },
    ]);
  });

  it('a folder of files only is unlabelled', () => {
    const layout = folderLayout(['shots/2.PNG', 'shots/1.jpeg']);
    expect(layout.classNames).toBeUndefined();
    expect(layout.entries).toEqual([{ path: 'shots/1.jpeg' }, { path: 'shots/2.PNG' }]);
  });

  it('no images: the error names the folder', () => {
    expect(() => folderLayout(['docs/readme.md'])).toThrow("folder 'docs': no .png/.jpg/.jpeg images found");
    expect(() => folderLayout([])).toThrow('no files were picked');
  });
});

describe('parseUrlSettings', () => {
  it('reads autorun, steps, backend, method and repeated set=', () => {
    expect(
      parseUrlSettings(
        '?autorun=1&steps=20&backend=wasm&method=lewel_m&set=data.imageSize=16&set=train.seed=3',
      ),
    ).toEqual({
      autorun: true,
      method: 'lewel_m',
      backend: 'wasm',
      steps: 20,
      epochs: undefined,
      threads: undefined,
      mapsEvery: undefined,
      overrides: ['data.imageSize=16', 'train.seed=3'],
    });
    expect(parseUrlSettings('').autorun).toBe(false);
  });

  it('a bad parameter is named with what was expected', () => {
    expect(() => parseUrlSettings('?steps=0')).toThrow('URL parameter steps=0: expected a positive integer');
    expect(() => parseUrlSettings('?method=simclr')).toThrow(
      'URL parameter method=simclr: expected one of lewel_b, byol, moco, lewel_m',
    );
  });
});
