export { unparsedInstance, type UnparsedImage } from "./unparsed.js";
export { openImage, wantedPlatformOf, type Image, type OpenImageOptions } from "./image.js";
