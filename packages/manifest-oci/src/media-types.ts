/** OCI image-spec media types. */

/** An OCI image manifest. */
export const OCI_MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json";
/** An OCI image index. */
export const OCI_INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";
/** An OCI image configuration. */
export const OCI_CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json";
/** The OCI empty descriptor's media type (`{}`, used by artifacts without a config). */
export const OCI_EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json";
/** A plain descriptor. */
export const OCI_DESCRIPTOR_MEDIA_TYPE = "application/vnd.oci.descriptor.v1+json";
/** The `oci-layout` file. */
export const OCI_LAYOUT_HEADER_MEDIA_TYPE = "application/vnd.oci.layout.header.v1+json";

/** An uncompressed tar layer. */
export const OCI_LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar";
/** A gzip-compressed tar layer. */
export const OCI_LAYER_GZIP_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip";
/** A zstd-compressed tar layer. */
export const OCI_LAYER_ZSTD_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+zstd";
/** A non-distributable uncompressed tar layer (deprecated by image-spec 1.1, still read and written). */
export const OCI_LAYER_NONDISTRIBUTABLE_MEDIA_TYPE = "application/vnd.oci.image.layer.nondistributable.v1.tar";
/** A non-distributable gzip-compressed tar layer. */
export const OCI_LAYER_NONDISTRIBUTABLE_GZIP_MEDIA_TYPE = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
/** A non-distributable zstd-compressed tar layer. */
export const OCI_LAYER_NONDISTRIBUTABLE_ZSTD_MEDIA_TYPE = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

/** The suffix of an encrypted layer's media type (ocicrypt). */
export const OCI_ENCRYPTED_SUFFIX = "+encrypted";

/** The annotation naming an image in an OCI layout's index.json. */
export const OCI_REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";
