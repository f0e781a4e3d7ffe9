package io.crmcore;

/**
 * A failure reported by crmcore. The subclass says what kind of failure it
 * was (one per library error code); the message says what was wrong and
 * where, naming the field or JSON path at fault (for example
 * {@code "lead.phone: expected a string"}).
 *
 * <p>Unchecked, like the rest of the runtime's resource errors: catch the
 * subclass you can act on.
 */
public class CrmException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The library's error codes ({@code CRM_E*} in include/crm/common.h). */
    public static final int NOT_FOUND = -1;
    public static final int EXISTS = -2;
    public static final int INVALID = -3;
    public static final int CONFLICT = -4;
    public static final int PERMISSION = -5;
    public static final int STORAGE = -6;
    public static final int BUSY = -7;
    public static final int NO_MEMORY = -8;

    private final int code;

    /**
     * @param code    a negative {@code CRM_E*} code
     * @param message what was wrong, and where
     */
    public CrmException(int code, String message) {
        super(message);
        this.code = code;
    }

    /** The library's error code, a negative {@code CRM_E*} value. */
    public int getCode() {
        return code;
    }
}
