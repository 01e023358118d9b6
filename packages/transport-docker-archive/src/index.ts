export {
  DOCKER_ARCHIVE_TRANSPORT_NAME,
  DockerArchiveReference,
  dockerArchiveTransport,
  newDockerArchiveIndexReference,
  newDockerArchiveReference,
} from "./transport.js";
