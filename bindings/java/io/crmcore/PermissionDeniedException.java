package io.crmcore;

/** The handle's dealer scope does not allow the operation (CRM_EPERM). */
public class PermissionDeniedException extends CrmException {
    private static final long serialVersionUID = 1L;

    public PermissionDeniedException(String message) {
        super(PERMISSION, message);
    }
}
