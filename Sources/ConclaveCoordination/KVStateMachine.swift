public enum KVPlaceholder {}
