package io.crmcore;

/** The operation conflicts with the current state, e.g. a commit with no transaction open, or a closed handle (CRM_ECONFLICT). */
public class ConflictException extends CrmException {
    private static final long serialVersionUID = 1L;

    public ConflictException(String message) {
        super(CONFLICT, message);
    }
}
