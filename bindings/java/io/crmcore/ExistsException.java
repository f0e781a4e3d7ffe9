package io.crmcore;

/** A record with that identity already exists (CRM_EEXISTS). */
public class ExistsException extends CrmException {
    private static final long serialVersionUID = 1L;

    public ExistsException(String message) {
        super(EXISTS, message);
    }
}
