package io.crmcore;

/** The library ran out of memory (CRM_ENOMEM). */
public class OutOfMemoryException extends CrmException {
    private static final long serialVersionUID = 1L;

    public OutOfMemoryException(String message) {
        super(NO_MEMORY, message);
    }
}
