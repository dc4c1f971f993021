import { z } from 'zod';
import {
  datasetSplitSchema as split,
  imageSizeSchema as size,
  defineAsyncRegistration,
  registerType,
  type DatasetRegistration,
  type Plugin,
} from '@selfsup/core';
import { CifarDataset } from './cifar';
import { DEFAULT_FASHION_MNIST_PATH, FASHION_MNIST_CLASSES, MNIST_CLASSES, MnistDataset } from './idx';
import { ImageFolderDataset } from './imageFolder';

const PLUGIN = '@selfsup/node';
const posInt = z.number().int().positive();

const imageFolderSchema = z
  .object({
    path: z.string().min(1),
    resize: size.optional(),
    fit: z.enum(['cover', 'fill', 'contain']).default('cover'),
    onBadImage: z.enum(['skip', 'fail']).default('fail'),
    cacheSize: z.number().int().min(0).default(0),
    extensions: z.array(z.string().startsWith('.')).min(1).optional(),
    limit: posInt.optional(),
  })
  .strict();

const cifar10Schema = z.object({ path: z.string().min(1), split, limit: posInt.optional() }).strict();
const cifar100Schema = z
  .object({
    path: z.string().min(1),
    split,
    labelType: z.enum(['fine', 'coarse']).default('fine'),
    limit: posInt.optional(),
  })
  .strict();
const mnistSchema = z.object({ path: z.string().min(1), split, limit: posInt.optional() }).strict();
const fashionMnistSchema = z
  .object({ path: z.string().min(1).default(DEFAULT_FASHION_MNIST_PATH), split, limit: posInt.optional() })
  .strict();
/** Datasets read from files: image folders, CIFAR binaries, MNIST/Fashion-MNIST IDX files. */
export const fileDatasetRegistrations: DatasetRegistration[] = [
  defineAsyncRegistration({
    type: 'image_folder',
    plugin: PLUGIN,
    description: 'PNG/JPEG folder; class subfolders give labels, a flat folder is unlabelled',
    optionsSchema: imageFolderSchema,
    create: (options) => ImageFolderDataset.load(options),
  }),
  defineAsyncRegistration({
    type: 'cifar10',
    plugin: PLUGIN,
    description: 'CIFAR-10 binary version (data_batch_1..5.bin, test_batch.bin)',
    optionsSchema: cifar10Schema,
    create: (options) => CifarDataset.load('cifar10', options),
  }),
  defineAsyncRegistration({
    type: 'cifar100',
    plugin: PLUGIN,
    description: 'CIFAR-100 binary version (train.bin, test.bin; fine or coarse labels)',
    optionsSchema: cifar100Schema,
    create: (options) => CifarDataset.load('cifar100', options),
  }),
  defineAsyncRegistration({
    type: 'mnist',
    plugin: PLUGIN,
    description: 'MNIST IDX files (gzipped or raw), 1-channel 28x28',
    optionsSchema: mnistSchema,
    create: (options) => MnistDataset.load('mnist', MNIST_CLASSES, options),
  }),
  defineAsyncRegistration({
    type: 'fashion_mnist',
    plugin: PLUGIN,
    description: `Fashion-MNIST IDX files (default path ${DEFAULT_FASHION_MNIST_PATH}, Debian dataset-fashion-mnist)`,
    optionsSchema: fashionMnistSchema,
    create: (options) => MnistDataset.load('fashion_mnist', FASHION_MNIST_CLASSES, options),
  }),
];

export const fileDatasetsPlugin: Plugin = {
  name: PLUGIN,
  register(container) {
    for (const r of fileDatasetRegistrations) registerType(container, 'Dataset', r);
  },
};
