/** Checkpoints: safetensors read/write, VNet checkpoints, and import of PyTorch `.pth` state_dicts. */
export { encodeSafetensors, decodeSafetensors, type SafetensorsContent } from './safetensors.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  readCheckpoint,
  encodeCheckpoint,
  decodeCheckpoint,
  architectureMetadata,
  vnetConfigFor,
  networkSpecFor,
  inferVNetConfig,
  ARCHITECTURE_KEYS,
  CHECKSUM_KEY,
  stateDictChecksum,
  type DecodedCheckpoint,
} from './checkpoint.js';
export { readTorchStateDict, loadTorchStateDict } from './torch-pth.js';
export { unpickle, type UnpickleHooks } from './pickle.js';
