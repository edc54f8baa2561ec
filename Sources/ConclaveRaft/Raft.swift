public enum RaftPlaceholder {}
