public enum ClusterPlaceholder {}
