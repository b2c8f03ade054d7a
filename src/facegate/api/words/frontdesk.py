"""Words for the front desk's part of the console (enrolling from photos, testing
recognition): key → (Chinese, English). Every key starts with ``fd_``."""

from __future__ import annotations

STRINGS: dict[str, tuple[str, str]] = {
    "fd_title": ("前台：人脸录入与识别测试", "Front desk: face enrollment and recognition test"),
    # Enrolling from photos
    "fd_enroll_title": ("用照片录入人脸", "Enroll a face from photos"),
    "fd_enroll_intro": (
        "先找到住户。只有已登记人脸识别同意的住户才能录入；照片只用来计算加密的人脸模板，不会保存。",
        "Find the resident first. Only a resident whose face consent is on record can be "
        "enrolled; the photos are used to compute an encrypted face template and are not kept.",
    ),
    "fd_search": ("姓名或住户编号", "Name or resident number"),
    "fd_search_button": ("查找住户", "Find resident"),
    "fd_no_results": ("没有找到符合的住户。", "No resident matches."),
    "fd_pick": ("选择", "Choose"),
    "fd_picked": ("已选住户", "Chosen resident"),
    "fd_consent_on_record": ("已登记人脸识别同意", "Face consent is on record"),
    "fd_consent_missing": (
        "尚未登记人脸识别同意：不能录入人脸。请先登记住户签署的书面同意书。",
        "No face consent on record: the face cannot be enrolled. Record the resident's "
        "signed paper consent first.",
    ),
    "fd_record_consent": ("先登记书面同意", "Record paper consent first"),
    "fd_consent_recorded": (
        "书面同意已登记，现在可以录入人脸。",
        "Paper consent recorded: the face can be enrolled now.",
    ),
    "fd_templates_count": ("已录入人脸模板数", "Face templates enrolled"),
    "fd_photos": ("照片（1–3 张，JPEG 或 PNG）", "Photos (1 to 3, JPEG or PNG)"),
    "fd_photos_hint": (
        "每张照片只拍一个人：正脸、光线充足、不戴口罩和墨镜。",
        "One person per photo: facing the camera, well lit, no mask or sunglasses.",
    ),
    "fd_enroll_button": ("录入人脸", "Enroll face"),
    "fd_enrolled": ("人脸已录入", "Face enrolled"),
    "fd_templates_added": ("新增模板数", "templates added"),
    "fd_pick_first": ("请先选择住户。", "Choose a resident first."),
    "fd_photo_count": ("请选择 1 到 3 张照片。", "Choose 1 to 3 photos."),
    "fd_photo_type": (
        "只能上传 JPEG 或 PNG 格式的照片。",
        "Only JPEG or PNG photos can be uploaded.",
    ),
    "fd_photo_size": (
        "照片太大：全部照片合计不能超过 8 MB，请缩小后再试。",
        "The photos are too large: 8 MB at most in total. Make them smaller and try again.",
    ),
    # Quality reasons the server names for a face that fails the quality gate
    "fd_quality_reasons": ("照片问题：", "What is wrong with the photo:"),
    "fd_quality_face_too_small": ("人脸太小（请靠近拍摄）", "the face is too small (come closer)"),
    "fd_quality_blurred": ("照片模糊", "the photo is blurred"),
    "fd_quality_underexposed": ("光线太暗", "too dark"),
    "fd_quality_overexposed": ("光线太亮", "too bright"),
    "fd_quality_strong_yaw": (
        "脸侧转过大（请正对镜头）",
        "the head is turned aside (face the camera)",
    ),
    "fd_quality_strong_roll": ("头部倾斜过大", "the head is tilted"),
    # Testing recognition
    "fd_test_title": ("识别测试", "Test recognition"),
    "fd_test_intro": (
        "上传一张照片并选择大门，系统按该门的方式识别，只给出结果：开门、拒绝或请换一种方式。"
        "测试不会开门，也不计入通行记录，但会记入审计日志。",
        "Upload a photo and pick a gate: the photo is recognized as at that gate and only "
        "the result is shown: open, deny or try another way. A test opens no door and is not "
        "in the access log, but it is audited.",
    ),
    "fd_liveness_skipped": (
        "上传的照片不做活体检测。",
        "Liveness is not checked on uploaded photos.",
    ),
    "fd_test_photo": ("照片（JPEG 或 PNG）", "Photo (JPEG or PNG)"),
    "fd_test_button": ("开始测试", "Run the test"),
    "fd_camera_open": ("用摄像头拍照", "Take a photo with the camera"),
    "fd_camera_take": ("拍照", "Take the photo"),
    "fd_camera_taken": ("已用摄像头拍照。", "Photo taken with the camera."),
    "fd_camera_unavailable": (
        "摄像头不可用，请上传照片。",
        "The camera is not available: upload a photo instead.",
    ),
    "fd_test_need_photo": ("请先上传照片或拍照。", "Upload or take a photo first."),
    "fd_result_open": ("开门", "Open"),
    "fd_result_deny": ("拒绝", "Deny"),
    "fd_result_try_another": ("请换一种方式", "Try another way"),
    "fd_result_ok": ("识别为已登记住户", "recognized as an enrolled resident"),
    "fd_result_not_recognized": (
        "未识别到已登记的住户",
        "not recognized as any enrolled resident",
    ),
    "fd_result_no_face": ("照片中没有找到人脸", "no face found in the photo"),
    "fd_result_poor_quality": ("照片质量不够", "the photo's quality is too low"),
    "fd_result_gate_does_not_accept": (
        "这个大门不用人脸识别",
        "this gate does not use face recognition",
    ),
    "fd_result_liveness": (
        "活体检测：未检查（上传的照片）",
        "Liveness: not checked (uploaded photo)",
    ),
}
